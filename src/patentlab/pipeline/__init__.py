"""The top floor: flows that cross steps (the demo's shared index today). Steps never import it."""
