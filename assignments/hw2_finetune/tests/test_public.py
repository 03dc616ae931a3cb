"""hw2_finetune public tests: shown to students, and run by `cs330 test hw2_finetune`."""

from __future__ import annotations

from gradescope_utils.autograder_utils.decorators import number, weight

from autograder.submission import SubmissionError
from finetune_cases import (BLOCKS, HEAD, block_parameters, block_state, expect_equal, expect_history,
                            target_images)


@weight(2)
@number("1.1")
def test_set_trainable_head(harness):
    """set_trainable: only the head trains; buffers and train/eval modes untouched"""
    out = harness.set_trainable_case(0, ["head"], [])
    expect_equal(out["returned"], HEAD, "set_trainable(model, ['head']) return value")
    expect_equal(out["requires_grad"], HEAD, "parameters with requires_grad after set_trainable(model, ['head'])")
    expect_equal(out["changed"], [], "state-dict entries changed by set_trainable (BatchNorm buffers included)")
    if not out["modes_kept"]:
        raise SubmissionError("set_trainable changed a module's train/eval mode; it should only set requires_grad")


@weight(2)
@number("1.2")
def test_set_trainable_unfreezes(harness):
    """set_trainable: re-enables parameters frozen earlier and freezes the rest"""
    out = harness.set_trainable_case(1, ["encoder.blocks.3", "head"], ["encoder", "head"])
    expected = sorted(block_parameters(3) + HEAD)
    expect_equal(out["returned"], expected, "set_trainable(model, ['encoder.blocks.3', 'head']) return value")
    expect_equal(out["requires_grad"], expected, "parameters with requires_grad afterwards")


@weight(3)
@number("2.1")
def test_reinit_head(harness, golden):
    """reinit_head: golden weights, zero bias, in place, nothing else changes"""
    out = harness.reinit_case(0, 5, 0)
    if not out["returned_none"]:
        raise SubmissionError("reinit_head should return None (it changes the model in place)")
    expect_equal(out["changed"], HEAD, "state-dict entries changed by reinit_head")
    if not out["same_tensors"]:
        raise SubmissionError("reinit_head replaced head.weight or head.bias; write into the existing tensors")
    golden.check("weight", out["weight"], "head.weight after reinit_head", atol=1e-7)
    golden.check("bias", out["bias"], "head.bias after reinit_head", atol=0.0)


@weight(2)
@number("2.2")
def test_reinit_head_determinism(harness):
    """reinit_head: driven only by the generator"""
    a = harness.reinit_case(0, 5, 0)
    b = harness.reinit_case(0, 5, 123)
    c = harness.reinit_case(0, 6, 0)
    if not bool((a["weight"] == b["weight"]).all()):
        raise SubmissionError("reinit_head gave different weights for the same generator seed after a different "
                              "torch.manual_seed: draw the weights with the generator only")
    if bool((a["weight"] == c["weight"]).all()):
        raise SubmissionError("reinit_head gave the same weights for different generator seeds")


@weight(3)
@number("3.1")
def test_layerwise_lr_groups(harness, golden):
    """layerwise_lr_groups: one group per block, decayed rates toward the input"""
    groups = harness.layerwise_case(0, BLOCKS, 1e-2, 0.5)
    if len(groups) != len(BLOCKS):
        raise SubmissionError(f"expected {len(BLOCKS)} groups (one per block, none left over), got {len(groups)}")
    for i, group in enumerate(groups):
        expected = sorted(block_parameters(i)) if i < 4 else HEAD
        expect_equal(sorted(group["names"]), expected, f"parameters of group {i} ({BLOCKS[i]})")
        golden.check(f"lr{i}", group["lr"], f"lr of group {i} ({BLOCKS[i]})", atol=1e-12, rtol=1e-9)


@weight(2)
@number("3.2")
def test_layerwise_lr_groups_rest(harness, golden):
    """layerwise_lr_groups: parameters in no listed block get base_lr, in a last group"""
    groups = harness.layerwise_case(0, ["encoder.blocks.2", "encoder.blocks.3"], 0.1, 0.25)
    expect_equal(len(groups), 3, "number of groups for 2 listed blocks plus the rest")
    expect_equal(sorted(groups[2]["names"]), sorted(block_parameters(0, 1) + HEAD), "parameters of the last group")
    for i in range(3):
        golden.check(f"lr{i}", groups[i]["lr"], f"lr of group {i}", atol=1e-12, rtol=1e-9)


@weight(2)
@number("4.1")
def test_gradual_unfreeze_schedule(student):
    """gradual_unfreeze_schedule: from the head toward the input"""
    blocks = ["a", "b", "c", "d"]
    expected = {0: ["d"], 1: ["d"], 2: ["c", "d"], 3: ["c", "d"], 4: ["b", "c", "d"], 6: blocks, 50: blocks}
    for epoch, want in expected.items():
        expect_equal(student.gradual_unfreeze_schedule(blocks, epoch, 2), want,
                     f"gradual_unfreeze_schedule({blocks}, epoch={epoch}, epochs_per_block=2)")


@weight(2)
@number("5.1")
def test_parameters_to_fine_tune(harness):
    """parameters_to_fine_tune: each mode's parameters in model order, requires_grad untouched"""
    conv_bn = ["0.weight", "0.bias", "1.weight", "1.bias"]
    expected = {"head": ["head.weight", "head.bias"],
                "first": [f"encoder.blocks.0.{n}" for n in conv_bn],
                "middle": [f"encoder.blocks.2.{n}" for n in conv_bn],
                "last": [f"encoder.blocks.3.{n}" for n in conv_bn]}
    for mode, want in expected.items():
        out = harness.parameters_case(0, mode)
        expect_equal(out["names"], want, f"parameters_to_fine_tune(model, {mode!r})")
        if not out["flags_kept"]:
            raise SubmissionError(f"parameters_to_fine_tune(model, {mode!r}) changed requires_grad flags")
    out = harness.parameters_case(0, "all")
    expect_equal(len(out["names"]), 18, "number of parameters for mode 'all'")


@weight(3)
@number("6.1")
def test_finetune_one_step(harness, golden):
    """finetune: one Adam step at a single rate matches the golden parameters"""
    out = harness.routine_case("lr", 0)
    expect_history(out["history"], 1, "finetune's history")
    golden.check("state", out["state"], "model state after one step", atol=1e-5)
    golden.check("history", out["history"], "finetune's history", atol=1e-5)


@weight(3)
@number("6.2")
def test_finetune_probe_keeps_encoder(harness, golden):
    """finetune after set_trainable(head): only the head moves; frozen BatchNorm keeps its statistics"""
    out = harness.routine_case("probe", 1)
    expect_equal(out["changed"], HEAD, "state-dict entries changed by fine-tuning the head only "
                 "(frozen BatchNorm layers must stay in eval mode)")
    golden.check("state", out["state"], "model state after one step", atol=1e-5)


@weight(3)
@number("6.3")
def test_finetune_surgical_first(harness, golden):
    """finetune with parameters_to_fine_tune(model, 'first'): only block 0 moves"""
    out = harness.routine_case("surgical_first", 2)
    expect_equal(out["changed"], block_state(0), "state-dict entries changed by surgical fine-tuning of the "
                 "first block")
    golden.check("state", out["state"], "model state after one step", atol=1e-5)


@weight(3)
@number("6.4")
def test_finetune_layerwise(harness, golden):
    """finetune with layerwise_lr_groups: one step matches the golden parameters"""
    out = harness.routine_case("layerwise", 3)
    golden.check("state", out["state"], "model state after one step", atol=1e-5)


@weight(3)
@number("6.5")
def test_lp_ft_one_step_each(harness, golden):
    """lp_ft: one probe epoch then one fine-tuning epoch match the golden parameters"""
    out = harness.routine_case("lp_ft", 4)
    history = out["history"]
    if not isinstance(history, dict) or set(history) != {"probe", "finetune"}:
        raise SubmissionError(f"lp_ft should return {{'probe': history, 'finetune': history}}, got {history!r}")
    expect_history(history["probe"], 1, "lp_ft(...)['probe']")
    expect_history(history["finetune"], 1, "lp_ft(...)['finetune']")
    golden.check("state", out["state"], "model state after LP-FT", atol=1e-5)
    golden.check("history", history, "lp_ft's history", atol=1e-5)


@weight(4)
@number("7.1")
def test_lp_ft_beats_scratch(harness):
    """behaviour: 5 examples per class, LP-FT from the pretrained encoder beats training from scratch"""
    out = harness.lp_ft_vs_scratch(target_images(), 5, 10, 0)
    if not out["lp_ft"] >= out["scratch"] + 0.2 or out["lp_ft"] < 0.6:
        raise SubmissionError(f"on 10 new characters with 5 examples each, LP-FT reached {out['lp_ft']:.3f} test "
                              f"accuracy and training from scratch {out['scratch']:.3f}; expected LP-FT >= 0.6 and "
                              f"at least 0.2 above scratch")
