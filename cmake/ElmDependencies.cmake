# Finds every third-party dependency once, so src/, tests/ and bench/ share the same targets.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# LibTorch: Debian installs its CMake package under /usr/lib/<triplet>/cmake/Torch.
find_package(Torch REQUIRED)
# Every layer passes std::string across library boundaries, so all must share LibTorch's C++ ABI.
# Debian's LibTorch and the cxx11-ABI LibTorch 2.x downloads use the new ABI; the pre-cxx11 ones do not.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR "This LibTorch uses the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0); use a cxx11-ABI LibTorch build.")
endif()

find_package(MPI REQUIRED COMPONENTS CXX C)
# OpenMP (the runtime LibTorch's CPU kernels use): the dual path's worker thread sets its own
# thread count. Optional: without it the worker shares LibTorch's default.
find_package(OpenMP COMPONENTS CXX)
find_package(Boost 1.74 REQUIRED COMPONENTS log log_setup filesystem thread)
find_package(nlohmann_json 3.10 REQUIRED)
# zlib: the deflate stream inside PNG plots (io/png_writer).
find_package(ZLIB REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
# SentencePiece (libsentencepiece-dev): the XLM-R tokenizer of the LLMLingua-2 fact extractor.
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

# Parallel HDF5 (checkpoints, bank files): Debian's openmpi flavour.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(WARNING "HDF5 is not the parallel (MPI) build; install libhdf5-openmpi-dev (tools/setup.sh does)")
endif()
# One imported target for the project: HDF5 headers include mpi.h in the parallel build.
add_library(elm_hdf5 INTERFACE)
target_include_directories(elm_hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
# The 1.10 API names (H5Oget_info_by_name with 4 arguments, ...) also on HDF5 1.12+ clusters.
# mpi.h without the deprecated MPI C++ bindings: the io layer uses the C API only (and so need not
# link libmpi_cxx).
target_compile_definitions(elm_hdf5 INTERFACE ${HDF5_DEFINITIONS} H5_USE_110_API OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
target_link_libraries(elm_hdf5 INTERFACE ${HDF5_LIBRARIES} MPI::MPI_C)

# Optional CUDA / NCCL: compiled and linked when a toolkit is present; nothing needs a GPU to build.
set(ELM_HAVE_CUDA OFF)
set(ELM_HAVE_NCCL OFF)
if(ELM_WITH_CUDA)
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  # Hopper (H100/H200) unless the user says otherwise; must be set before enable_language.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(ELM_HAVE_CUDA ON)
      find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include)
      find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu)
      if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
        set(ELM_HAVE_NCCL ON)
      endif()
    endif()
  endif()
endif()
message(STATUS "ExplicitLM: CUDA=${ELM_HAVE_CUDA} NCCL=${ELM_HAVE_NCCL} HDF5=${HDF5_FOUND} (parallel=${HDF5_IS_PARALLEL}) Torch=${Torch_VERSION}")
