"""One file per lesson notebook, `l<notebook id>.py`, each listing that notebook's `EXERCISES`."""
