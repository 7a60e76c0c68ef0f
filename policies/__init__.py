"""SB3 policies that share one network across agents (FuPS, SePS, SNP-PS, AdaPS, MAST)."""
