"""What a phase is: cell, space group, sites, composition, geometry."""
