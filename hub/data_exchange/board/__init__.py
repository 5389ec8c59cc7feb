"""The supply-and-demand board: organizations post what they need and what they can offer
(materials, production capacity) and the hub matches needs with offers across regions."""
