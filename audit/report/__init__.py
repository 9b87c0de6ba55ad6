"""Rendering an audit result: figures (plots.py), HTML (render.py), PDF (pdf.py)."""
