"""hw2_finetune hidden tests: graded after the due date."""

from __future__ import annotations

from gradescope_utils.autograder_utils.decorators import number, visibility, weight

from autograder.submission import SubmissionError
from finetune_cases import BLOCKS, HEAD, block_parameters, block_state, expect_equal, expect_history


@weight(2)
@number("8.1")
@visibility("after_due_date")
def test_set_trainable_several_prefixes(harness):
    """set_trainable: several prefixes, parameters of a block and a single BatchNorm layer"""
    out = harness.set_trainable_case(3, ["encoder.blocks.0", "encoder.blocks.2.1"], ["head"])
    expected = sorted(block_parameters(0) + ["encoder.blocks.2.1.bias", "encoder.blocks.2.1.weight"])
    expect_equal(out["returned"], expected, "set_trainable return value")
    expect_equal(out["requires_grad"], expected, "parameters with requires_grad")
    expect_equal(out["changed"], [], "state-dict entries changed by set_trainable")


@weight(2)
@number("8.2")
@visibility("after_due_date")
def test_set_trainable_nothing(harness):
    """set_trainable: no prefixes freezes everything"""
    out = harness.set_trainable_case(4, [], [])
    expect_equal(out["returned"], [], "set_trainable(model, []) return value")
    expect_equal(out["requires_grad"], [], "parameters with requires_grad")


@weight(2)
@number("8.3")
@visibility("after_due_date")
def test_layerwise_decay_one(harness, golden):
    """layerwise_lr_groups: decay 1 gives every block base_lr; group order follows block_names"""
    groups = harness.layerwise_case(5, BLOCKS[::-1][:3][::-1], 3e-3, 1.0)
    expect_equal([g["lr"] for g in groups], [3e-3] * 4, "learning rates with decay 1")
    expect_equal([sorted(g["names"]) for g in groups[:3]], [block_parameters(2), block_parameters(3), HEAD],
                 "parameters per group")


@weight(3)
@number("8.4")
@visibility("after_due_date")
def test_surgical_middle_and_last(harness, golden):
    """finetune with 'middle' and 'last' blocks: only that block moves"""
    for mode, block in (("middle", 2), ("last", 3)):
        out = harness.routine_case(f"surgical_{mode}", 6)
        expect_equal(out["changed"], block_state(block), f"state-dict entries changed by surgical '{mode}'")
        golden.check(f"state_{mode}", out["state"], f"model state after surgical '{mode}'", atol=1e-5)


@weight(3)
@number("8.5")
@visibility("after_due_date")
def test_gradual_unfreeze_training(harness, golden):
    """three epochs of gradual unfreezing with finetune match the golden parameters"""
    out = harness.routine_case("gradual", 7)
    expect_equal(out["requires_grad"], sorted(block_parameters(2, 3) + HEAD), "trainable after epoch 2")
    expect_equal(out["changed"], sorted(block_state(2, 3) + HEAD), "state-dict entries changed")
    golden.check("state", out["state"], "model state after gradual unfreezing", atol=1e-5)


@weight(3)
@number("8.6")
@visibility("after_due_date")
def test_finetune_batch_order(harness, golden):
    """finetune: several batches and epochs, list and DataLoader, batch order from the generator"""
    for loader in (False, True):
        out = harness.routine_case("epochs", 8, n_batches=3, data_loader=loader)
        expect_history(out["history"], 2, "finetune's history")
        golden.check(f"state_{loader}", out["state"], "model state after 2 epochs", atol=1e-5)
        golden.check(f"history_{loader}", out["history"], "finetune's history", atol=1e-5)


@weight(2)
@number("8.7")
@visibility("after_due_date")
def test_parameters_bad_mode(harness):
    """parameters_to_fine_tune: an unknown mode raises ValueError"""
    if not harness.bad_mode_case(0, "second"):
        raise SubmissionError("parameters_to_fine_tune(model, 'second') should raise ValueError")
