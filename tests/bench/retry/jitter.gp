# Plot the jitter_sim data file:
#   jitter-sim jitter.dat > /dev/null && gnuplot -e "dat='jitter.dat'; out='retry-jitter.png'" jitter.gp
if (!exists("dat")) dat = 'jitter.dat'
if (!exists("out")) out = 'retry-jitter.png'
set terminal pngcairo size 1000,420 font ",10"
set output out
set multiplot layout 1,2 title "N clients, one optimistic-concurrency resource (mean of 200 runs)"
set key top left
set grid
set xlabel "clients (N)"
set ylabel "total calls"
plot dat using 1:2 with linespoints title "no jitter", \
     dat using 1:3 with linespoints title "full", \
     dat using 1:4 with linespoints title "equal", \
     dat using 1:5 with linespoints title "decorrelated"
set ylabel "completion time (ms, simulated)"
set logscale y
plot dat using 1:6 with linespoints title "no jitter", \
     dat using 1:7 with linespoints title "full", \
     dat using 1:8 with linespoints title "equal", \
     dat using 1:9 with linespoints title "decorrelated"
unset multiplot
