"""Operations: backups, restores, disaster-recovery tests, maintenance and application updates."""
