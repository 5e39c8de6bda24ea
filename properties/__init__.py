"""properties: see the README tour."""
