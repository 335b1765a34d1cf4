"""The synth benchmark (`make bench`, benchmarks/synth.py) and the pieces it is made of."""
