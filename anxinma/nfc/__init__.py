"""NFC cards: NDEF forms, nfcpy reader and writer, card UID binding, the encoding station."""
