# Injected into llama.cpp's project() by scripts/setup.sh and the Dockerfiles through
# -DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file> while pip builds llama-cpp-python 0.3.36.
# llama-cpp-python's own CMakeLists forces LLAMA_BUILD_COMMON=ON, which compiles llama.cpp's
# "common" library (chat.cpp, arg.cpp, ... for the command-line tools); the Python binding never
# loads it. Forcing it OFF here, after that, cuts the build to the libraries the binding uses
# (libllama, ggml-base, ggml-cpu): 83 ninja steps instead of several hundred.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "" FORCE)
