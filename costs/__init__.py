"""Cost modules: task cost, trainable critic, guardrails and their aggregation (issue #3, #4)."""
