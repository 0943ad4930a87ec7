"""Parser files: reading their metadata without running them, finding them in the home, and the
API a parser sees (`sdk`)."""
