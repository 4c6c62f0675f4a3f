"""The Flask console: room terminal, review, custody and courtroom presentation.

It talks to evidence through ``evidence_store`` and to a room's recorder only through
``recorder.client``; it never imports the capture or encoding pipeline.
"""
