# The test `consumer`: uses lmalloc the ways README.md tells a program to,
# from outside lmalloc's build, and runs the result.
#
#   1. CMake: install the build tree into a prefix, configure examples/ as
#      a project of its own with the same toolchain file, finding lmalloc
#      with find_package, build it, run the linked-list example. WASI:
#      -DCMAKE_PREFIX_PATH=<prefix>. Emscripten: its toolchain file
#      confines package searches to its sysroot, so -Dlmalloc_DIR=<prefix>/
#      lib/cmake/lmalloc instead.
#   2. WASI only: the plain clang command line, app.c + -Iinclude +
#      liblmalloc.a (the plain emcc line is the test
#      example_emscripten_emcc).
#
#   cmake -DSOURCE_DIR=<lmalloc> -DBINARY_DIR=<build/preset> -DWORK_DIR=<dir>
#         -DPLATFORM=wasm|emscripten -DTOOLCHAIN=<toolchain file>
#         -DCC=<C compiler> -DNODE=<node> -P consumer.cmake
#
# Each step prints what it runs; the last line is "N passed, N failed".
cmake_minimum_required(VERSION 3.25)

foreach(v SOURCE_DIR BINARY_DIR WORK_DIR PLATFORM TOOLCHAIN CC NODE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "consumer.cmake: -D${v}=... is required")
  endif()
endforeach()

set(passed 0)
set(failed 0)
set(runner "${SOURCE_DIR}/tests/run-wasi.mjs")
set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/examples")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Runs a command; `what` names it. Sets ${out_var} to its stdout and
# counts a failure if it exits non-zero.
function(step what out_var)
  string(REPLACE ";" " " shown "${ARGN}")
  message("==> ${what}: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message("${out}${err}")
    message("FAIL ${what}: exit status ${rc}")
    math(EXPR n "${failed} + 1")
    set(failed ${n} PARENT_SCOPE)
  else()
    math(EXPR n "${passed} + 1")
    set(passed ${n} PARENT_SCOPE)
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Checks that the linked-list example's output says nothing leaked.
function(expect_no_leak what output)
  if(output MATCHES "0 used blocks, 0 used objects: nothing left")
    message("ok   ${what}: nothing left")
    math(EXPR n "${passed} + 1")
    set(passed ${n} PARENT_SCOPE)
  else()
    message("${output}")
    message("FAIL ${what}: no clean leak report")
    math(EXPR n "${failed} + 1")
    set(failed ${n} PARENT_SCOPE)
  endif()
endfunction()

# 1. find_package from an install.
if(PLATFORM STREQUAL "emscripten")
  set(find "-Dlmalloc_DIR=${prefix}/lib/cmake/lmalloc")
  set(run "${NODE}" "${build}/linked-list.js")
else()
  set(find "-DCMAKE_PREFIX_PATH=${prefix}")
  set(run "${NODE}" "${runner}" "${build}/linked-list.wasm")
endif()
step("install" _
     "${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${prefix}")
step("configure examples/ with find_package" _
     "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples" -B "${build}"
     --toolchain "${TOOLCHAIN}" "${find}" -DCMAKE_BUILD_TYPE=Release)
step("build examples/" _ "${CMAKE_COMMAND}" --build "${build}")
# Emscripten's output is CommonJS; the repository's package.json says
# "type": "module" for everything below it.
file(WRITE "${build}/package.json" "{ \"type\": \"commonjs\" }\n")
step("run the find_package build" out ${run})
expect_no_leak("find_package build" "${out}")

# 2. The plain command line of README.md.
if(PLATFORM STREQUAL "wasm")
  step("plain clang" _ "${CC}" --target=wasm32-wasi -O2
       "${SOURCE_DIR}/examples/c/linked-list.c" "-I${SOURCE_DIR}/include"
       "${BINARY_DIR}/liblmalloc.a" -o "${WORK_DIR}/linked-list.wasm")
  step("run the plain build" out "${NODE}" "${runner}"
       "${WORK_DIR}/linked-list.wasm")
  expect_no_leak("plain build" "${out}")
endif()

message("${passed} passed, ${failed} failed")
if(failed GREATER 0)
  message(FATAL_ERROR "consumer: ${failed} step(s) failed")
endif()
