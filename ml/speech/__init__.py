"""Speech recognition (Whisper tiny.en through CTranslate2) and the liveness digit matcher."""
