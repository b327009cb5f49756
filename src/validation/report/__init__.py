"""validation.report"""
