import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from workbench_dagster.generation.procedural import LAYOUTS, render_image
from workbench_dagster.generation.vocabulary import ELEMENT_PRIMITIVES
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.storage.image_store import sha256_bytes
from workbench_dagster.storage.media import decode_image

W, H = 160, 120
BASE = {
    "scene_type": "test",
    "layout": "crowd",
    "setting": "Atropia City",
    "landmark": "the Liberty Monument",
    "crowd_size": "medium",
    "people": 14,
    "time_of_day": "day",
    "primitives": [],
    "text_language": "es",
    "slogan": "NI UNA MÁS",
    "theme": "femicide",
    "demand": "funding for shelters",
    "sentiment": "hope",
    "palette": "#7b2d8e",
    "hashtag": "#NiUnaMás",
}
FLYER = {"heading": "MARCHA", "when": "SÁBADO 18H", "demand_line": "EXIGIMOS: REFUGIOS", "place_line": "EN X"}


def spec(**changes) -> dict:
    return {**BASE, **changes}


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode_image(data).convert("RGB"), dtype=np.float64)


def luminance(data: bytes) -> float:
    rgb = pixels(data)
    return float((rgb @ [0.299, 0.587, 0.114]).mean())


def test_same_inputs_same_bytes_and_seed_matters():
    first = render_image(spec(primitives=["banners", "signs"]), W, H, seed=5)
    assert render_image(spec(primitives=["banners", "signs"]), W, H, seed=5) == first
    assert render_image(spec(primitives=["banners", "signs"]), W, H, seed=6) != first


def test_output_is_a_png_of_the_requested_size():
    data = render_image(spec(), 200, 90, seed=1)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = decode_image(data)
    assert image.format == "PNG" and image.size == (200, 90) and image.mode == "RGB"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("time_of_day", ["day", "night"])
def test_every_layout_renders(layout, time_of_day):
    data = render_image(spec(layout=layout, time_of_day=time_of_day), W, H, seed=3)
    assert decode_image(data).size == (W, H)
    assert pixels(data).std() > 20  # a picture, not a blank canvas


@pytest.mark.parametrize("layout", ["crowd", "portrait", "monument", "cartoon"])
def test_night_is_darker_than_day(layout):
    day = render_image(spec(layout=layout, time_of_day="day", primitives=["building"]), W, H, seed=9)
    night = render_image(spec(layout=layout, time_of_day="night", primitives=["building"]), W, H, seed=9)
    assert luminance(night) < luminance(day) - 30


@pytest.mark.parametrize(
    "layout, element",
    # A monument always shows its statue, so the statue element cannot change it.
    [
        (layout, e)
        for layout in ("crowd", "monument", "portrait")
        for e in ELEMENT_PRIMITIVES
        if (layout, e) != ("monument", "statue")
    ],
)
def test_each_element_changes_the_picture(layout, element):
    without = pixels(render_image(spec(layout=layout, people=5), W, H, seed=4))
    with_it = pixels(render_image(spec(layout=layout, people=5, primitives=[element]), W, H, seed=4))
    changed = np.abs(with_it - without).sum(axis=2) > 30
    assert changed.mean() > 0.005, f"{element} on {layout} left the picture almost unchanged"


def test_an_unknown_primitive_is_a_clear_error_not_skipped():
    with pytest.raises(ValueError, match="unknown primitive 'fireworks'; the painter draws: smoke_stacks, "):
        render_image(spec(primitives=["banners", "fireworks"]), W, H, seed=2)


def test_candles_add_warm_light_at_night():
    def warm(data: bytes) -> int:
        rgb = pixels(data)[int(H * 0.7) :]
        return int(((rgb[..., 0] > 200) & (rgb[..., 1] > 120) & (rgb[..., 2] < 140)).sum())

    dark = dict(people=4, time_of_day="night")
    assert warm(render_image(spec(**dark, primitives=["candles"]), W, H, seed=8)) > 20 + warm(
        render_image(spec(**dark), W, H, seed=8)
    )


def test_banner_carries_the_slogan():
    one = render_image(spec(primitives=["banners"], slogan="JUSTICIA YA"), W, H, seed=1)
    other = render_image(spec(primitives=["banners"], slogan="VIVAS NOS QUEREMOS"), W, H, seed=1)
    assert one != other


def test_every_flyer_word_comes_from_the_spec():
    flyer = dict(layout="flyer", slogan="JUSTICE NOW")
    worded = render_image(spec(**flyer, flyer=FLYER), W, H, seed=1)
    for key in FLYER:
        assert render_image(spec(**flyer, flyer={**FLYER, key: "OTRA COSA"}), W, H, seed=1) != worded, key
    # the language itself prints nothing: no boilerplate of the code's own
    assert render_image(spec(**flyer, flyer=FLYER, text_language="en"), W, H, seed=1) == worded
    blank = dict(layout="flyer", slogan="", hashtag="")
    assert render_image(spec(**blank), W, H, seed=1) == render_image(
        spec(**blank, text_language="en"), W, H, seed=1
    )


def test_no_shape_tells_a_flyer_language_without_reading():
    """The old motif (a circle for Spanish, stripes for English) was a planted shortcut: at 64x64,
    where words are unreadable, two flyers with the same text now look the same in any language."""
    small = []
    for lang in ("en", "es"):
        data = render_image(spec(layout="flyer", text_language=lang, slogan="X", flyer=FLYER), W, H, seed=1)
        small.append(np.asarray(Image.open(io.BytesIO(data)).convert("L").resize((64, 64)), dtype=float))
    assert np.abs(small[0] - small[1]).max() == 0


def test_unknown_layout_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown layout 'mosaic'; expected one of: crowd, portrait, "):
        render_image(spec(layout="mosaic"), W, H, seed=1)


def test_scenario_specs_all_render(scenario):
    for prompt in expand_batch(scenario, "t", 16, seed=3):
        assert decode_image(render_image(prompt.spec, 96, 72, prompt.seed)).size == (96, 72)


@pytest.mark.parametrize(
    "data",
    [b"", b"definitely not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
    ids=["empty", "text", "bad-png"],
)
def test_corrupt_bytes_raise_a_clear_value_error(data):
    with pytest.raises(ValueError, match="^not a decodable image: "):
        decode_image(data)


def test_truncated_png_is_rejected():
    data = render_image(spec(), W, H, seed=1)
    with pytest.raises(ValueError, match="not a decodable image"):
        decode_image(data[: len(data) // 2])


def test_sha256_bytes():
    data = render_image(spec(), 32, 32, seed=1)
    assert sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    assert len(sha256_bytes(b"")) == 64


@pytest.fixture
def fallback_fonts(monkeypatch):
    """Without matplotlib's DejaVu, and on a Pillow whose default font takes no size."""
    from PIL import ImageFont

    from workbench_dagster.generation import lettering

    bitmap = ImageFont.load_default

    def sizeless(size=None):
        if size is not None:
            raise TypeError("load_default() got an unexpected keyword argument 'size'")
        return bitmap()

    lettering._font.cache_clear()
    monkeypatch.setattr(lettering, "_matplotlib_font", lambda: None)
    monkeypatch.setattr(ImageFont, "load_default", sizeless)
    yield
    lettering._font.cache_clear()


def test_text_still_renders_with_the_fallback_font(fallback_fonts):
    for layout in ("flyer", "cartoon"):
        data = render_image(spec(layout=layout, slogan="NUESTRO CUERPO, NUESTRA VOZ"), W, H, seed=1)
        assert decode_image(data).size == (W, H)
