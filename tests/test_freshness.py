"""The update plan on constructed records: what runs, what waits, what is held back, and why."""

from workbench_dagster.freshness import Materialized, Target, plan_updates, staleness


def target(asset, key=None, job="j", parents=(), code_version=None, fingerprint="f"):
    return Target(asset, key, job, tuple(parents), code_version, fingerprint)


def made(data_hash, inputs=None, code_version=None, fingerprint="f"):
    return Materialized(data_hash, dict(inputs or {}), code_version, fingerprint)


def test_missing_runs_and_an_up_to_date_target_does_not():
    records = {"a[x]": made("h1")}
    plan = plan_updates([target("a", "x"), target("a", "y")], records.get)
    assert [(i.key, i.reasons) for i in plan.items] == [("y", {"a": "missing"})]


def test_changed_input_runs_and_what_reads_it_waits_for_it():
    records = {"a": made("new"), "b": made("hb", {"a": "old"}), "c[k]": made("hc", {"b": "hb"})}
    chain = [target("a"), target("b", parents=["a"]), target("c", "k", job="other", parents=["b"])]
    plan = plan_updates(chain, records.get)
    (b_item, c_item) = plan.items
    assert b_item.reasons == {"b": "input changed: a"} and not b_item.waits_on
    assert c_item.reasons == {"c": "after b"} and c_item.waits_on == {("j", None)}
    assert [i.job for i in plan.ready()] == ["j"]
    assert len(plan.ready(running_with=[("j", None)])) == 2


def test_an_upstream_rerun_with_the_same_bytes_leaves_downstream_alone():
    records = {"a[x]": made("same"), "b[x]": made("hb", {"a[x]": "same"})}
    assert not plan_updates([target("b", "x", parents=["a[x]"])], records.get)


def test_a_new_input_partition_and_a_gone_one_are_both_changes():
    records = {"a[1]": made("1"), "a[2]": made("2"), "c": made("hc", {"a[1]": "1"})}
    assert staleness(target("c", parents=["a[1]", "a[2]"]), records["c"], {"a[1]": "1", "a[2]": "2"}) == (
        "new input: a[2]"
    )
    assert staleness(target("c"), made("hc", {"a[1]": "1"}), {}) == "input gone: a[1]"


def test_code_version_and_fingerprint_changes_make_a_target_stale():
    record = made("h", code_version="renderer=3", fingerprint="f1")
    assert staleness(target("a", code_version="renderer=4", fingerprint="f1"), record, {}) == (
        "code version renderer=3 -> renderer=4"
    )
    assert staleness(target("a", code_version="renderer=3", fingerprint="f2"), record, {}) == (
        "config or source files changed"
    )
    # without a code version Dagster records the run id: nothing to compare
    assert (
        staleness(
            target("a", code_version=None, fingerprint="f1"),
            made("h", code_version="run-id", fingerprint="f1"),
            {},
        )
        is None
    )


def test_a_failed_blocking_check_holds_back_everything_below_it():
    records = {"a[x]": made("new"), "b[x]": made("hb", {"a[x]": "old"})}
    chain = [target("a", "x"), target("b", "x", parents=["a[x]"]), target("c", parents=["b[x]"])]
    plan = plan_updates(chain, records.get, lambda pair: ["expectations"] if pair == "a[x]" else [])
    assert not plan.items
    assert plan.blocked == {"b[x]": "a[x]: expectations", "c": "a[x]: expectations"}


def test_a_parent_that_will_run_again_is_waited_for_not_held_back_by_its_old_check():
    chain = [target("a", "x"), target("b", "x", job="k", parents=["a[x]"])]
    plan = plan_updates(chain, {}.get, lambda pair: ["expectations"])
    assert [i.job for i in plan.items] == ["j", "k"] and not plan.blocked


def test_the_run_key_state_follows_what_the_item_reads():
    chain = [target("b", parents=["a"])]
    first = plan_updates(chain, {"a": made("1")}.get).items[0].state()
    same = plan_updates(chain, {"a": made("1")}.get).items[0].state()
    changed = plan_updates(chain, {"a": made("2")}.get).items[0].state()
    assert first == same != changed
