"""The main job: a simulated cluster end to end, with a summary that is counted, not claimed."""
