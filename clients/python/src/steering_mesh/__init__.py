"""steering-mesh: a Python client of the steering mesh (docs/python-client.md).

    from steering_mesh import Mesh, Steer, recipes
    mesh = Mesh.local()                                   # or Mesh("host:50050", model_service=..., ...)
    acts = mesh.capture("I love dogs", "blocks.2.hook_resid_post")          # numpy [tokens, d_model]
    love = mesh.build_vector(recipes.caa_mean("blocks.2.hook_resid_post", ["I love it"], ["I hate it"]))
    print(mesh.generate("I think", love.steer(scale=8), max_tokens=20).text)
"""
from steering_mesh import recipes
from steering_mesh.errors import MeshError
from steering_mesh.mesh import (Chunk, Compared, Feature, Generation, Mesh, Operation, Steer, Tokens, Vector, prompt,
                                sampling)
from steering_mesh.scoring import Alternative, Condition, ConditionResult, Score, TokenLogprob
from steering_mesh.tensors import bfloat16_bits_to_float32, float32_to_bfloat16_bits, from_tensor, to_tensor

__version__ = "0.1.0"
__all__ = ["Mesh", "MeshError", "Steer", "Feature", "Vector", "Operation", "Generation", "Chunk", "Compared", "Tokens",
           "recipes", "prompt", "sampling", "to_tensor", "from_tensor", "bfloat16_bits_to_float32",
           "float32_to_bfloat16_bits", "Condition", "ConditionResult", "Score", "TokenLogprob", "Alternative"]
