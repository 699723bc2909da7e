# Runs a program that must stop with a failing status (a trap, an abort)
# after printing what EXPECT matches (a regular expression, applied to its
# standard output and error together), and fails otherwise.
#
#   cmake -DEXPECT=<regex> -P expect-trap.cmake -- <command...>
# The command is everything after "--" (with the emulator first under wasm).
set(_cmd "")
set(_on FALSE)
foreach(_i RANGE ${CMAKE_ARGC})
  if(_on AND DEFINED CMAKE_ARGV${_i})
    list(APPEND _cmd "${CMAKE_ARGV${_i}}")
  elseif("${CMAKE_ARGV${_i}}" STREQUAL "--")
    set(_on TRUE)
  endif()
endforeach()
if(NOT _cmd)
  message(FATAL_ERROR "expect-trap.cmake: no command after --")
endif()
execute_process(COMMAND ${_cmd} OUTPUT_VARIABLE _out ERROR_VARIABLE _err
                RESULT_VARIABLE _rc)
message("${_out}${_err}")
if("${_rc}" STREQUAL "0")
  message(FATAL_ERROR "expect-trap.cmake: the program exited normally (status 0)")
endif()
if(NOT "${_out}${_err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "expect-trap.cmake: output does not match ${EXPECT}")
endif()
message("expect-trap.cmake: stopped (${_rc}) after the expected output")
