"""The bottom layer: settings, shared types, errors, text and date rules. Imports nothing else of newsrag."""
