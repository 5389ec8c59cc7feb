"""Factory vision: inspection, privacy masking, progress from cameras."""
