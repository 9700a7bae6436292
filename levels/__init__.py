"""H-JEPA levels: encoders, predictors, latent variables, JEPA losses and planners (issue #3, #4)."""
