import CNCurses
import PoolMonitor
