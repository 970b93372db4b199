"""Training: the solver, its learning-rate policy and the training loop."""
