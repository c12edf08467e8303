"""DICOMweb (PS3.18) image store: STOW-RS, QIDO-RS, WADO-RS, rendering and share links."""
