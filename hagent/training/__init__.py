"""Training recipes: each composes the library's parts (levels/, costs/, decoder/) into one stage.

`pipeline.train` runs them in order for a dataset: level 0 (JEPA + VICReg), the abstract levels
(`hierarchy`), the critics (`critic`), the point worlds' place grounding (`places`), the gym
worlds' goal readout and landmark graph (`goal`) and the plan decoder (`decoder`); the language
normalizer trains on its own (`normalizer`). `presets` lists the commands that rebuild each
shipped checkpoint.
"""
