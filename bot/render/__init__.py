"""Renderers: turn a core `Reply` into what an edge shows. They format; they add no clinical text."""
