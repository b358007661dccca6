"""Skyeye SITL simulator: vehicles speaking MAVLink, the world they fly over, their cameras."""
