"""Board profiles and the YoWASP bitstream build with its reports."""
