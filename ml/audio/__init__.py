"""Sound for generated videos: speech in a cameo's voice (``tts``), the scene's music, effects and ambience
mixed under it (``mix``), and mouths moved by that speech (``lipsync``)."""
