"""validation.battery"""
