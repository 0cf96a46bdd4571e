"""distil: a smaller student learns from its teacher."""
