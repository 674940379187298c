"""Recipes: YAML files -> frozen, typed, validated configs (``fields``, ``schema``, ``load``)."""

from flowsynth.recipe.fields import RecipeError, recipe_hash, to_dict
from flowsynth.recipe.load import from_mapping, load_recipe
from flowsynth.recipe.schema import ElasticRecipe, FlowRecipe, Recipe

__all__ = [
    "ElasticRecipe",
    "FlowRecipe",
    "Recipe",
    "RecipeError",
    "from_mapping",
    "load_recipe",
    "recipe_hash",
    "to_dict",
]
