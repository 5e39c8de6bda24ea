"""pytest configuration: the Hypothesis profiles of properties/profiles.py."""

from properties.profiles import register_profiles

register_profiles()
