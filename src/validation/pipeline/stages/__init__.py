"""The pipeline's stage commands, one module a stage, each wired in ``dvc.yaml``.

Run one with ``python -m validation.pipeline.stages NAME`` from the project folder (``dvc repro`` does).
"""

STAGES = ("synthesize", "validate", "reliability", "structure", "agreement", "predictive", "training_oc", "training",
          "fairness", "pool", "plan", "report")
