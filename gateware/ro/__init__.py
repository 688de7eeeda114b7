"""Ring-oscillator PUF: the array (sequencer), the bank interface and its bodies (behavioural,
iCE40, ECP5)."""
