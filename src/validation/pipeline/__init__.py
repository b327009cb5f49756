"""validation.pipeline"""
