"""Paper reproductions (`archsim reproduce STUDY`)."""
