"""Arbiter PUF: the k-XOR sequencer, the body interface and its bodies (behavioural, iCE40,
ECP5), the ARBITER handler."""
