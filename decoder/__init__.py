"""Language out: sentencepiece tokenizer and the autoregressive plan-to-text decoder (issue #5)."""
