"""Jinja2 templates and CSS of the audit report (source folder: reports/templates)."""
