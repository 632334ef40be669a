"""The Gradio app's rendering and tabs (pure functions where possible); `app.py` assembles them."""
