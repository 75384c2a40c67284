"""How a phase scatters: reflections, structure factors, profiles, patterns."""
