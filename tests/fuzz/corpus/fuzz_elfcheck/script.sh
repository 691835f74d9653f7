#!/bin/sh
exec ./tests "$@"
