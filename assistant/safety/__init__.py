"""Guards that hold whatever the language model or the patient says."""
