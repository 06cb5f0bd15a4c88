"""The web face of Dateline: Gradio chat, library and the REST API (see ui/app.py)."""
